package main

// buildCommands are the CLI verbs for builds and the build cache (issue 5).
func buildCommands() []command {
	return nil
}
