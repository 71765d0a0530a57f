from hgbackup.cli import main

main()
