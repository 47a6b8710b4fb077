"""From stored messages to training data: sessions and turns (`conversations`), pseudonyms (`redact`), one
persona's split and windows (`dataset`), their renderings for each destination (`formats`), the one transcript
renderer shared by training and generation (`render`), and OpenAI's file rules and prices (`validate`,
`pricing`). Light: no model library is imported here."""
