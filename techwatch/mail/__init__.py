"""Client risk summary emails: composed from stored briefings, queued once, delivered once.

settings.py   environment variables -> MailSettings (the password stays a Secret)
compose.py    pure: Briefing + Client + Advisor -> subject, text, HTML, attachment
message.py    pure: MailContent -> EmailMessage with sanitised headers and a stable Message-ID
outcome.py    what a transport is given (Claimed) and answers (Outcome)
outbox.py     the policy: queue once, one sender, claim/send/record, crash -> uncertain
smtp.py       SMTP delivery: TLS, timeouts, one reused connection, replies classified
folder.py     delivery to a folder of .eml files and HTML previews (no SMTP configured)
send.py       mail runs over the store, for the CLI and the flows
"""
