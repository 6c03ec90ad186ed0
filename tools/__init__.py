"""Developer tools run from the checkout (not installed): the doc generators behind
`make catalog`, `python -m tools.catalog` and `python -m tools.gallery`."""
