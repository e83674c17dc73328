"""In-process fakes of external services (Slack Web API, ...) for jobbot's integration tests."""
