"""The andon gateway: worker processes serving predictions and proxying the OpenAI protocol."""
