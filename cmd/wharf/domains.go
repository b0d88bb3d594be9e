package main

// domainCommands are the CLI verbs for domains, certificates and router logs (issue 4).
func domainCommands() []command {
	return nil
}
