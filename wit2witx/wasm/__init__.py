"""Component-model wasm (binary and text) holding encoded WIT packages."""
