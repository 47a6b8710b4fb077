"""Generation engines behind one interface (`responder.Responder`): the torch engine (`torch_engine`), always there.

`responder` is light (no torch): the hosted backend, the server and the CLI use it without loading a model library.
"""
