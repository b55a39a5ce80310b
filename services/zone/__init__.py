"""The zone (COZ): every département's situation reports and serious incidents, in one picture."""
