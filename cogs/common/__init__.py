"""Discord helpers every feature shares: the one error path (`answering`), turning
interactions into the domain's plain values (`context`), command choices and embed basics."""
