from voxgen.cli import main

main()
