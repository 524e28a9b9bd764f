"""The source's settings checked before any request: owners and lead types, values and ranges,
keys nothing reads (typos), placeholders and misplaced credentials."""
