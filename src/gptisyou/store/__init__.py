"""The workspace: where it lives (`workspace`), its SQLite database (`database`), importing exports into it
(`ingest`) and deleting what gptisyou made there (`forget`). Second stage of the data flow, after `sources/`."""
