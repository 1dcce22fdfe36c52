"""Integration tests talk to servers on 127.0.0.1 (moto, the local endpoint): sockets stay open."""
