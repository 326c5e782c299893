import PartitionCommands

PartctlMain.run()
