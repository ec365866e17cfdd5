"""Assessment and foresight: the 三率 and the other measures, rankings, hotspots, the monthly report."""
