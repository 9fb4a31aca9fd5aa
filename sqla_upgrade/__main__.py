from sqla_upgrade.cli.app import main

main()
