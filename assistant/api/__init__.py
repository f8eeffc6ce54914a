"""The HTTP API: OpenAI-compatible chat completions, the documents API, API keys and their scopes."""
