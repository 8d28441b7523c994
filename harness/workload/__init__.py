"""The load: signed REST publishers and WebSocket subscribers speaking the Pusher protocol."""
