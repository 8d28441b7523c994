"""`python3 -m upstream`: serve the app registry."""
from .server import main

main()
