package bench

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plots writes the report's figures as SVG files into dir, for
// docs/performance.md: throughput and p99 against concurrency, the project
// (solid) and its bare reference (dashed) in one colour per comparison;
// and, when the overload run ran, goodput and p99 against offered load.
// It returns the files' names.
func (r *Report) Plots(dir string) ([]string, error) {
	var written []string
	save := func(p *plot.Plot, name string) error {
		if err := p.Save(7*vg.Inch, 4*vg.Inch, filepath.Join(dir, name)); err != nil {
			return err
		}
		written = append(written, name)
		return nil
	}
	for _, f := range []struct {
		name, title, y string
		value          func(Cell) float64
	}{
		{"throughput.svg", "Throughput, closed loop", "requests per second", func(c Cell) float64 { return c.Throughput }},
		{"p99.svg", "99th percentile latency, closed loop", "p99 (ms)", func(c Cell) float64 { return c.P99.Seconds() * 1000 }},
	} {
		p := newPlot(f.title, "requests in flight (concurrency)", f.y)
		p.X.Scale = plot.LogScale{}
		var ticks []plot.Tick
		for _, c := range r.concurrencies() {
			ticks = append(ticks, plot.Tick{Value: float64(c), Label: strconv.Itoa(c)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		for i, cmp := range comparisons {
			if cmp.target == ChainMTLS {
				continue // not a project against its bare reference
			}
			for _, series := range []struct {
				target string
				dashed bool
			}{{cmp.target, false}, {cmp.reference, true}} {
				var xys plotter.XYs
				for _, c := range r.concurrencies() {
					if cell, ok := r.cell(series.target, c); ok {
						xys = append(xys, plotter.XY{X: float64(c), Y: f.value(cell)})
					}
				}
				if err := addLine(p, series.target, xys, plotutil.Color(i), series.dashed); err != nil {
					return nil, err
				}
			}
		}
		// One concurrency alone gives the axis no width, which gonum
		// widens by 1 each way: to 0, for a concurrency of 1, which a log
		// scale cannot show (it panics).
		if p.X.Min == p.X.Max {
			p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
		}
		if err := save(p, f.name); err != nil {
			return nil, err
		}
	}
	if len(r.Overloads) == 0 {
		return written, nil
	}
	for _, f := range []struct {
		name, title, y string
		value          func(OverloadRun, float64) float64
		legendBelow    bool // where the lines leave room for it
	}{
		{"overload-goodput.svg", "Goodput under overload, open loop", "goodput (share of capacity)", func(run OverloadRun, capacity float64) float64 { return run.Goodput / capacity }, true},
		{"overload-p99.svg", "99th percentile latency of the requests served, open loop", "p99 (ms)", func(run OverloadRun, _ float64) float64 { return run.P99.Seconds() * 1000 }, false},
	} {
		p := newPlot(f.title, "offered load (times capacity)", f.y)
		if f.legendBelow {
			p.Legend.Top = false
		}
		for i, o := range r.Overloads {
			var xys plotter.XYs
			for _, run := range o.Runs {
				xys = append(xys, plotter.XY{X: run.Factor, Y: f.value(run, o.Capacity)})
			}
			if err := addLine(p, fmt.Sprintf("%s (%s)", o.Service, o.Requests), xys, plotutil.Color(i), false); err != nil {
				return nil, err
			}
		}
		if err := save(p, f.name); err != nil {
			return nil, err
		}
	}
	return written, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	line, points, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	line.Color, points.Color = c, c
	if dashed {
		line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	}
	p.Add(line, points)
	p.Legend.Add(name, line, points)
	return nil
}
