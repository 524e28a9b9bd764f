"""Pages into tables: LinkedIn's lead records decoded, answers resolved against their form
version, question columns named, and the lead, answer, consent and form rows built in Arrow."""
