//! ferrodef's event model: the normalized MozDef schema, severities and timestamp parsing
