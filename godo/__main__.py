from godo.cli import main

main()
