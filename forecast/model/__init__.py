"""What a campaign is: entities, vocabularies, presets, validation, strategy files (TOML)."""
