"""The Discord adapters, one package per feature: an interaction comes in, becomes a job
(through `bot.jobs`) or a query (through `bot.studio`), and goes out rendered.

  pictures/  /imagine, the buttons under a picture, the Refine form, reply-to-refine, and
             the Publisher the runner shows jobs through
  history/   /history and the "Picture history" message menu
  admin/     /imagine-admin
  account/   /quota
  common/    the one error path, interaction → plain values, choices, embed basics, and
             `Services` (what the cogs use of the bot: they never import `bot.app`)
"""

# The extensions the bot loads (`bot.app`), and whose commands the translator reads.
EXTENSIONS = ("cogs.pictures", "cogs.history", "cogs.admin", "cogs.account")
