"""The tool-use area: tools with JSON Schema parameters, a sandboxed executor, the agent loop."""
