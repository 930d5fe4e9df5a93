package matrix

import (
	"fmt"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart draws results as a PNG with grouped bars, one bar per server and
// scenario, each labelled with its absolute median: server-core µs per
// operation and throughput, both relative to raw gnet so that scenarios of
// very different scale share an axis, and server memory per idle
// connection in bytes.
func Chart(path string, scen []Scenario, impls []string, rows []Row, meta Meta) error {
	find := func(scenario, key string) *Row {
		for i := range rows {
			if rows[i].Scenario == scenario && rows[i].Key == key {
				return &rows[i]
			}
		}
		return nil
	}
	var load, idle []Scenario
	for _, s := range scen {
		if s.Mode == "idle" {
			idle = append(idle, s)
		} else {
			load = append(load, s)
		}
	}
	// value returns the bar height and its label.
	type value func(s Scenario, impl string) (float64, string)
	panel := func(title, ylabel string, ss []Scenario, v value) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.Y.Label.Text = ylabel
		p.Y.Min = 0
		w := vg.Points(math.Min(54, 420/float64(max(1, len(ss)))) / float64(max(1, len(impls))))
		names := make([]string, len(ss))
		for i, s := range ss {
			names[i] = s.Label
		}
		top := 0.0
		for i, impl := range impls {
			vals := make(plotter.Values, len(ss))
			xys := plotter.XYLabels{XYs: make(plotter.XYs, len(ss)), Labels: make([]string, len(ss))}
			for j, s := range ss {
				h, label := v(s, impl)
				vals[j] = h
				xys.XYs[j] = plotter.XY{X: float64(j), Y: h}
				xys.Labels[j] = label
				top = math.Max(top, h)
			}
			b, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return nil, err
			}
			b.LineStyle.Width = 0
			b.Color = plotutil.Color(i)
			b.Offset = vg.Length(float64(i)-float64(len(impls)-1)/2) * w
			p.Add(b)
			p.Legend.Add(impl, b)
			labels, err := plotter.NewLabels(xys)
			if err != nil {
				return nil, err
			}
			for k := range labels.TextStyle {
				labels.TextStyle[k].Font.Size = vg.Points(6.5)
				labels.TextStyle[k].Rotation = math.Pi / 2
				labels.TextStyle[k].XAlign = draw.XLeft
				labels.TextStyle[k].YAlign = draw.YCenter
			}
			labels.Offset = vg.Point{X: b.Offset, Y: vg.Points(2)}
			p.Add(labels)
		}
		p.Y.Max = top * 1.35 // room for the labels and the legend
		p.Legend.Top = true
		p.Legend.Left = true
		p.NominalX(names...)
		p.X.Tick.Label.Rotation = 0.3
		p.X.Tick.Label.XAlign = draw.XRight
		p.Add(plotter.NewGrid())
		return p, nil
	}
	median := func(s Scenario, key, impl string) float64 {
		if r := find(s.Key, key); r != nil {
			return r.Cells[impl].Median
		}
		return 0
	}
	relative := func(key string) value {
		return func(s Scenario, impl string) (float64, string) {
			v, raw := median(s, key, impl), median(s, key, "raw")
			if v == 0 {
				return 0, ""
			}
			if raw == 0 {
				return 0, sig3(v)
			}
			return v / raw, sig3(v)
		}
	}
	var plots [][]*plot.Plot
	if len(load) > 0 { // a run of idle scenarios alone has no load panels
		cost, err := panel("Server-core µs per operation relative to raw gnet (lower is better; labels: µs/op)",
			"× raw gnet", load, relative("core_us_per_op"))
		if err != nil {
			return err
		}
		thr, err := panel("Throughput relative to raw gnet (higher is better; labels: operations/s)",
			"× raw gnet", load, relative("ops_per_sec"))
		if err != nil {
			return err
		}
		plots = append(plots, []*plot.Plot{cost}, []*plot.Plot{thr})
	}
	if len(idle) > 0 {
		mem, err := panel("Server memory per idle connection (lower is better; labels: bytes)", "bytes (RSS)", idle,
			func(s Scenario, impl string) (float64, string) {
				v := median(s, "bytes_per_conn", impl)
				return v, sig3(v)
			})
		if err != nil {
			return err
		}
		plots = append(plots, []*plot.Plot{mem})
	}
	if len(plots) == 0 {
		return nil
	}
	plots[0][0].Title.Text = fmt.Sprintf("SimpleServer vs raw gnet vs std net: %s, %s, %d reps\n", meta.Date, meta.GoVersion, meta.Reps) + plots[0][0].Title.Text

	const width, rowHeight = 10 * vg.Inch, 3.8 * vg.Inch
	img := vgimg.New(width, rowHeight*vg.Length(len(plots)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: 6 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
