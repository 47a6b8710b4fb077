"""`python -m gptisyou` (also what `accelerate launch -m gptisyou` runs)."""

from gptisyou.cli import main

main()
