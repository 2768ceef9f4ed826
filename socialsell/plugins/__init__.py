"""The plugin interface: the hook specifications (hookspecs), the Channel interface and its data
types (channel), and the plugin manager that finds and loads plugins (manager)."""
