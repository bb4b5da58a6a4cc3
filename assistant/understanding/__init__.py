"""Understanding what people say: numbers, dates, colours, phrases and answers, deterministic first."""
