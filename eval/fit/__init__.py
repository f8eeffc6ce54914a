"""Scripts that fit the assistant's tunable parameters on the train documents' questions and write them as
versioned artifacts under ``assistant/resources/`` with the command that made them and their cross-validated
scores: ``python -m eval fit answerability ...``."""

import shlex
import sys


def made_by(what: str) -> str:
    """The command line that is fitting ``what`` (``python -m eval fit WHAT …``), for an artifact's provenance."""
    return f"python -m eval fit {what} " + " ".join(shlex.quote(a) for a in sys.argv[3:] if a)
