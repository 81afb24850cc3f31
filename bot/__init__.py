"""The adapters people use: the `citebot` command line (`bot.cli`) and the Discord bot
(`bot.app`, `bot.ask`, `bot.lookup`, `bot.format`), both thin layers over `index`."""
