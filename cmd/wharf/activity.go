package main

// activityCommands are the CLI verbs for logs, activity, users and access (issue 6).
func activityCommands() []command {
	return nil
}
