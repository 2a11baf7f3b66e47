// Module NVLBRuntime: see DESIGN.md for its role.
