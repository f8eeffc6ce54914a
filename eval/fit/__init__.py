"""Scripts that fit the assistant's tunable parameters on the train documents' questions and write them as
versioned artifacts under ``assistant/resources/`` with the command that made them and their cross-validated
scores: ``python -m eval fit answerability ...``."""
