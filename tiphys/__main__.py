from tiphys.cli.main import main

main()
