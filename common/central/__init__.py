"""The central server's side: `silvergym collect` (collector: MQTT → SQLite/PostgreSQL) and
`silvergym report` (report: a carer's HTML health report), with the payload JSON Schemas (schemas/).

It talks to devices only through MQTT and the documented payloads: it may import common.config
and the process's logging set-up (common.bus.service), never the bus's messages or sockets,
common.coach or services/.
"""
