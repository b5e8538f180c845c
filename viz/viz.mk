# viz/viz.mk: charts and path diagrams with cairo and pango (included by
# Makefile.am).
