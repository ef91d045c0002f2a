"""README.md names the base model and the dataset and gives the log's hyperparameters and test metrics."""

import sys
from pathlib import Path

workspace = Path(sys.argv[1])
path = workspace / "README.md"
if not path.is_file():
    sys.exit("README.md was not written")
card = path.read_text(errors="replace").lower()
required = {
    "base model": ["distilbert-base-uncased"],
    "dataset": ["imdb"],
    "learning rate": ["3e-05", "3e-5", "0.00003"],
    "batch size": ["32"],
    "test accuracy": ["0.9094"],
    "test f1": ["0.9101"],
}
missing = [what for what, forms in required.items() if not any(f in card for f in forms)]
if missing:
    sys.exit(f"README.md lacks: {', '.join(missing)}")
print("the card has the base model, dataset, hyperparameters and test metrics")
