"""gptisyou: a chat history in, a model that writes like one participant out.

The package root stays light: importing it never loads torch, transformers or any other heavy stack.
"""

__version__ = "0.1.0"
