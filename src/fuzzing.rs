//! Entry points for the fuzz targets and for the tests that replay their
//! seed corpora. Not part of the public API.
