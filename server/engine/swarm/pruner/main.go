// The node pruner: run once on every node of the swarm, it removes from that node's engine the functions' images
// (pulled from the platform's registry by digest) whose digest the server no longer keeps. A static binary, alone in
// an image FROM scratch; it talks only to the engine's socket mounted into it, and removes nothing an engine would
// have to force: an image a container still uses answers 409 and stays.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The engine's API version these calls are written against (Docker 20.10).
const api = "/v1.41"

// The engine's answer to a listing is read up to this size: a node holding more images than fit is pruned on a later run.
const maxListing = 64 << 20

var (
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	// What follows the repository prefix in a reference the pruner may remove: a function's name and a digest.
	referencePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*@(sha256:[0-9a-f]{64})$`)
)

type image struct {
	ID          string   `json:"Id"`
	RepoDigests []string `json:"RepoDigests"`
}

// Summary of one run, printed as one line.
type summary struct {
	removed, inUse, gone, failed, kept, left int
}

func (s summary) String() string {
	return fmt.Sprintf("pruner: removed %d, in use %d, already gone %d, failed %d, kept %d, left for the next run %d", s.removed, s.inUse, s.gone, s.failed, s.kept, s.left)
}

func main() {
	repository := flag.String("repository", "", "the functions' repositories on the registry's read side, e.g. 10.0.0.1:5000/lambda-fn/")
	socket := flag.String("socket", "/var/run/docker.sock", "the node's engine")
	most := flag.Int("most", 100, "the most references removed in one run")
	timeout := flag.Duration("timeout", 60*time.Second, "the whole run's time limit")
	flag.Parse()
	if !strings.HasSuffix(*repository, "/lambda-fn/") || strings.ContainsAny(*repository, "?#@ ") {
		fail("-repository: <registry host:port>/lambda-fn/")
	}
	if *most < 1 {
		fail("-most: a number above 0")
	}
	keep := map[string]bool{}
	for _, digest := range flag.Args() {
		if !digestPattern.MatchString(digest) {
			fail("not a digest to keep: " + digest)
		}
		keep[digest] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	engine := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", *socket)
		},
	}}
	images, err := list(ctx, engine)
	if err != nil {
		fail("listing the engine's images: " + err.Error())
	}
	candidates, kept := selectReferences(images, *repository, keep)
	result := summary{kept: kept}
	for index, reference := range candidates {
		if index >= *most {
			result.left = len(candidates) - index
			break
		}
		switch status, err := remove(ctx, engine, reference); {
		case err != nil:
			result.failed++
			fmt.Fprintf(os.Stderr, "pruner: removing %s: %s\n", reference, err)
		case status == http.StatusOK:
			result.removed++
		case status == http.StatusConflict:
			result.inUse++
		case status == http.StatusNotFound:
			result.gone++
		default:
			result.failed++
			fmt.Fprintf(os.Stderr, "pruner: removing %s: the engine answered %d\n", reference, status)
		}
	}
	fmt.Println(result)
}

// selectReferences returns the references under the repository prefix whose digest is not kept (sorted, so a bounded run is
// the same on every node), and how many references there were kept.
func selectReferences(images []image, repository string, keep map[string]bool) ([]string, int) {
	var candidates []string
	kept := 0
	for _, each := range images {
		for _, reference := range each.RepoDigests {
			if !strings.HasPrefix(reference, repository) {
				continue
			}
			match := referencePattern.FindStringSubmatch(reference[len(repository):])
			if match == nil {
				continue
			}
			if keep[match[1]] {
				kept++
			} else {
				candidates = append(candidates, reference)
			}
		}
	}
	sort.Strings(candidates)
	return candidates, kept
}

func list(ctx context.Context, engine *http.Client) ([]image, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://engine"+api+"/images/json", nil)
	if err != nil {
		return nil, err
	}
	response, err := engine.Do(request)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the engine answered %d", response.StatusCode)
	}
	var images []image
	if err := json.NewDecoder(io.LimitReader(response.Body, maxListing)).Decode(&images); err != nil {
		return nil, err
	}
	return images, nil
}

// remove deletes one reference, never forced: the engine refuses (409) while a container uses its image, and removes
// the image itself only when that reference was its last.
func remove(ctx context.Context, engine *http.Client, reference string) (int, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodDelete, "http://engine"+api+"/images/"+reference+"?force=false", nil)
	if err != nil {
		return 0, err
	}
	response, err := engine.Do(request)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(response.Body, 1<<20))
	response.Body.Close()
	return response.StatusCode, nil
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "pruner: "+message)
	os.Exit(2)
}
