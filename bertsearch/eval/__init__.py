"""Developer tooling, apart from the search pipeline: SQuAD files and metrics (`squad`),
`bertsearch eval` (`evaluation`) and `bertsearch train-reader` (`training`)."""
