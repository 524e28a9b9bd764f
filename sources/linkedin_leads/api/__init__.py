"""The LinkedIn API client: HTTP with dlt's retrying session, OAuth credentials and tokens, Rest.li
2.0 encoding, URNs, offset paging and LinkedIn's errors. Knows nothing of tables or dlt state."""
