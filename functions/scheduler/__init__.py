"""The scheduler function (EventBridge, every minute)."""
