package main

// releaseCommands are the CLI verbs for releases, config, process types, scaling, resources and storage (issue 3).
func releaseCommands() []command {
	return nil
}
