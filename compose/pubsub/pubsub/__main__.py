"""`python3 -m pubsub`: run one node."""
from .app import main

main()
