"""Route a LangChain chain over replayed RouterBench models (recorded answers and costs, no API key).

Run: .venv/bin/python examples/langchain_routerbench_demo.py [data folder] [n]
"""

import sys
from pathlib import Path

from scope_langchain.demo import run_chain_demo

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "routerbench-3k"

if __name__ == "__main__":
    data = sys.argv[1] if len(sys.argv) > 1 else DATA
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    run_chain_demo(data, n=n)
