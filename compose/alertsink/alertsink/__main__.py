from alertsink.server import main

main()
