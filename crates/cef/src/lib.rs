//! Build and parse ArcSight CEF events; byte-compatible with Mozilla's Python cef library
